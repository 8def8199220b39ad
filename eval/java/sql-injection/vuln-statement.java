import java.sql.Connection;
import java.sql.ResultSet;

public class Repo {
    public ResultSet byName(Connection c, String name) throws Exception {
        return c.createStatement().executeQuery("SELECT * FROM t WHERE name = '" + name + "'");
    }
}
