import { spawn } from 'node:child_process';

/** Where the sql tool connects: the SQL_* variables of docker-compose.yml's `temporal-schema` service. */
export interface SqlToolEnv {
  SQL_PLUGIN: string;
  SQL_HOST: string;
  SQL_PORT: string;
  SQL_USER: string;
  SQL_PASSWORD: string;
}

/**
 * The schema set-up, step by step, as docker-compose.yml's `temporal-schema` service runs it (a test compares
 * the two): create the database (an existing one is left alone), the versioning tables (`-v 0.0` leaves a newer
 * schema alone), then the versions missing from the schema embedded in the tool (`--schema-name`).
 */
export function schemaSteps(databases: { main: string; visibility: string }): string[][] {
  const steps: string[][] = [];
  for (const [db, schema] of [
    [databases.main, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ]) {
    steps.push(['--plugin', 'postgres12', '--db', db, 'create']);
    steps.push(['--plugin', 'postgres12', '--db', db, 'setup-schema', '-v', '0.0']);
    steps.push(['--plugin', 'postgres12', '--db', db, 'update-schema', '--schema-name', schema]);
  }
  return steps;
}

/** Runs every step with `temporal-sql-tool`; rejects with the tool's output when one fails. */
export async function setUpSchemas(
  sqlTool: string,
  env: SqlToolEnv,
  databases: { main: string; visibility: string },
  onLog: (line: string) => void = () => undefined,
): Promise<void> {
  for (const step of schemaSteps(databases)) {
    await run(sqlTool, step, { ...process.env, ...env });
    onLog(`temporal-sql-tool ${step.join(' ')} -> ok`);
  }
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`temporal-sql-tool ${args.join(' ')} exited with ${code}:\n${out.slice(-2000)}`));
    });
  });
}
