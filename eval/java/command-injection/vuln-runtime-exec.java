import javax.servlet.http.HttpServletRequest;

public class Tools {
    public void ping(HttpServletRequest req) throws Exception {
        Runtime.getRuntime().exec("ping -c 1 " + req.getParameter("host"));
    }
}
