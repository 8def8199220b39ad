import { Client } from "pg";

export async function byEmail(client: Client, email: string) {
  return client.query("SELECT id FROM users WHERE email = $1", [email]);
}
