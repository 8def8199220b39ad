import org.springframework.jdbc.core.JdbcTemplate;
import java.util.List;
import java.util.Map;

public class Repo {
    private JdbcTemplate jdbc;

    public List<Map<String, Object>> byStatus(String status) {
        String sql = String.format("SELECT * FROM orders WHERE status = '%s'", status);
        return jdbc.queryForList(sql);
    }
}
