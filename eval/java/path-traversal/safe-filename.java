import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import javax.servlet.http.HttpServletRequest;

public class Docs {
    public byte[] open(HttpServletRequest req) throws Exception {
        Path name = Paths.get("index.txt").getFileName();
        return Files.readAllBytes(Paths.get("/data").resolve(name));
    }
}
