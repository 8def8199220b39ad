import java.sql.Connection;
import java.sql.PreparedStatement;

public class Repo {
    private static final String TABLE = "orders";

    public PreparedStatement byId(Connection c) throws Exception {
        PreparedStatement ps = c.prepareStatement("SELECT * FROM " + TABLE + " WHERE id = ?");
        return ps;
    }
}
