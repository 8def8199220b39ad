import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import javax.servlet.http.HttpServletRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.client.RestTemplate;

public class PreviewController {
    private final RestTemplate rest = new RestTemplate();

    public InputStream preview(HttpServletRequest request) throws IOException {
        // ruleid: java-ssrf
        URL url = new URL(request.getParameter("url"));
        return url.openStream();
    }

    @GetMapping("/fetch")
    public String fetch(@RequestParam("target") String target) {
        // ruleid: java-ssrf
        return rest.getForObject(target, String.class);
    }

    @GetMapping("/avatar")
    public String avatar(@RequestParam("user") String user) {
        // ok: java-ssrf
        return rest.getForObject("https://avatars.example.org/u/" + user, String.class);
    }
}
