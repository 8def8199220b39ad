import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import javax.servlet.http.HttpServletRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;

public class FileController {
    private static final Path BASE = Paths.get("/srv/files");

    public byte[] download(HttpServletRequest request) throws IOException {
        String name = request.getParameter("name");
        // ruleid: java-path-traversal
        try (FileInputStream in = new FileInputStream("/srv/files/" + name)) {
            return in.readAllBytes();
        }
    }

    @GetMapping("/files/{name}")
    public byte[] file(@PathVariable String name) throws IOException {
        // ruleid: java-path-traversal
        return Files.readAllBytes(BASE.resolve(name));
    }

    @GetMapping("/safe/{name}")
    public byte[] safe(@PathVariable String name) throws IOException {
        // ok: java-path-traversal
        return Files.readAllBytes(BASE.resolve(Paths.get("x").getFileName()));
    }

    public boolean index() {
        // ok: java-path-traversal
        return new File("/srv/files/index.html").exists();
    }
}
