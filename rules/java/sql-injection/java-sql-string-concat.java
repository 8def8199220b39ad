import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class UserDao {
    private final Connection connection;

    public UserDao(Connection connection) {
        this.connection = connection;
    }

    public ResultSet find(String name) throws SQLException {
        Statement statement = connection.createStatement();
        // ruleid: java-sql-string-concat
        return statement.executeQuery("SELECT * FROM users WHERE name = '" + name + "'");
    }

    public int delete(String name) throws SQLException {
        String sql = String.format("DELETE FROM users WHERE name = '%s'", name);
        // ruleid: java-sql-string-concat
        return connection.createStatement().executeUpdate(sql);
    }

    public ResultSet findSafely(String name) throws SQLException {
        // ok: java-sql-string-concat
        PreparedStatement statement = connection.prepareStatement("SELECT * FROM users WHERE name = ?");
        statement.setString(1, name);
        return statement.executeQuery();
    }

    public String label(StringBuilder out, String name) {
        // ok: java-sql-string-concat
        out.append("selected user " + name);
        return out.toString();
    }
}
