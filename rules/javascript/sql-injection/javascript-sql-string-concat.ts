import { Pool } from "pg";

const pool = new Pool();

export async function orders(customer: string) {
  // ruleid: javascript-sql-string-concat
  const all = await pool.query(`SELECT * FROM orders WHERE customer = '${customer}'`);
  // ok: javascript-sql-string-concat
  const mine = await pool.query("SELECT * FROM orders WHERE customer = $1", [customer]);
  return [all, mine];
}
