import { Client } from "semantics-api";
class Service {
  private readonly c = new Client("svc");
  async describe(): Promise<string> {
    return `${this.c.getName()}:${await this.c.fetchValue(1)}`;
  }
}
export async function run() {
  return new Service().describe();
}
