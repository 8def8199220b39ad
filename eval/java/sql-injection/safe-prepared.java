import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

public class Repo {
    public ResultSet byName(Connection c, String name) throws Exception {
        PreparedStatement ps = c.prepareStatement("SELECT * FROM t WHERE name = ?");
        ps.setString(1, name);
        return ps.executeQuery();
    }
}
