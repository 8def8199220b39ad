import java.io.IOException;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;

public class PingController {
    public void ping(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String host = request.getParameter("host");
        // ruleid: java-command-injection
        Runtime.getRuntime().exec("ping -c 1 " + host);
        // ruleid: java-command-injection
        new ProcessBuilder("sh", "-c", "ping -c 1 " + host).start();
        // ok: java-command-injection
        new ProcessBuilder("ping", "-c", "1", host).start();
    }

    @GetMapping("/lookup")
    public String lookup(@RequestParam String name) throws IOException {
        // ruleid: java-command-injection
        Runtime.getRuntime().exec(name);
        // ok: java-command-injection
        Runtime.getRuntime().exec(new String[]{"nslookup", name});
        return "ok";
    }

    public void cleanup() throws IOException {
        // ok: java-command-injection
        Runtime.getRuntime().exec("rm -rf /tmp/cache");
    }
}
