import java.io.FileInputStream;
import javax.servlet.http.HttpServletRequest;

public class Files {
    public FileInputStream open(HttpServletRequest req) throws Exception {
        return new FileInputStream("/data/" + req.getParameter("f"));
    }
}
