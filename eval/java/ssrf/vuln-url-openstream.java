import java.io.InputStream;
import java.net.URL;
import javax.servlet.http.HttpServletRequest;

public class Fetch {
    public InputStream get(HttpServletRequest req) throws Exception {
        return new URL(req.getParameter("src")).openStream();
    }
}
