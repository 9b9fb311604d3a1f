import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A Go program the cluster needs, built from the Go module proxy with `go install` when not cached. */
export interface GoTool {
  /** File name in `.tools/bin` (versioned, so a version bump builds anew). */
  file: string;
  /** `module/path/cmd@version` as `go install` takes it. */
  module: string;
  /** The module and version it comes from: tools of one module are built in one `go install`. */
  goModule: string;
  /** The name `go install` gives the binary (the last path element of the package). */
  installsAs: string;
  /** Variable naming a prebuilt binary instead. */
  envVar: string;
  what: string;
}

const TEMPORAL_SERVER_VERSION = 'v1.29.1';

/** The Temporal server (the same release as `temporalio/server:1.29.1` in docker-compose.yml). */
export const TEMPORAL_SERVER: GoTool = {
  file: `temporal-server-${TEMPORAL_SERVER_VERSION}`,
  module: `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  goModule: `go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`,
  installsAs: 'server',
  envVar: 'TEMPORAL_SERVER_PATH',
  what: 'Temporal server',
};

/** Temporal's SQL schema tool, schemas embedded (the one in `temporalio/admin-tools:1.29.1-...`). */
export const TEMPORAL_SQL_TOOL: GoTool = {
  file: `temporal-sql-tool-${TEMPORAL_SERVER_VERSION}`,
  module: `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
  goModule: `go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`,
  installsAs: 'sql',
  envVar: 'TEMPORAL_SQL_TOOL_PATH',
  what: 'temporal-sql-tool',
};

/** Temporal Web (the release `temporalio/ui:2.42.1` serves, and that the `temporal` CLI 1.5.1 bundles). */
export const TEMPORAL_UI_SERVER: GoTool = {
  file: 'temporal-ui-server-v2.42.1',
  module: 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1',
  goModule: 'github.com/temporalio/ui-server/v2@v2.42.1',
  installsAs: 'server',
  envVar: 'TEMPORAL_UI_SERVER_PATH',
  what: 'Temporal Web (ui-server)',
};

/**
 * Finds each tool: its variable, then `.tools/bin/<file>`; builds the missing ones there with
 * `go install` (GOFLAGS=-mod=mod, one call per module version, into a staging folder, then renamed),
 * the way the `temporal` CLI is built. Throws a how-to message when Go is missing.
 */
export function ensureGoTools(projectRoot: string, tools: GoTool[], log: (line: string) => void = () => undefined): string[] {
  const binDir = path.join(projectRoot, '.tools', 'bin');
  const found = new Map<GoTool, string>();
  for (const tool of tools) {
    const explicit = process.env[tool.envVar];
    if (explicit) {
      if (!isExecutable(explicit)) throw new Error(`${tool.envVar}=${explicit} is not an executable file`);
      found.set(tool, explicit);
    } else if (isExecutable(path.join(binDir, tool.file))) {
      found.set(tool, path.join(binDir, tool.file));
    }
  }
  const missing = tools.filter((t) => !found.has(t));
  if (missing.length) {
    const go = findOnPath('go');
    if (!go) {
      throw new Error(
        `${missing.map((t) => t.what).join(', ')} not found in .tools/bin and Go is not installed to build ${missing.length > 1 ? 'them' : 'it'}.\n` +
          `Install Go and run this command again, or set ${missing.map((t) => t.envVar).join(' / ')} to prebuilt binaries.`,
      );
    }
    // `go install a@v b@v` builds packages of one module version together (one download, one compile)
    const byModule = new Map<string, GoTool[]>();
    for (const t of missing) byModule.set(t.goModule, [...(byModule.get(t.goModule) ?? []), t]);
    for (const group of byModule.values()) {
      // .tools may not exist yet (the Temporal CLI came from PATH or TEMPORAL_CLI_PATH)
      fs.mkdirSync(path.join(projectRoot, '.tools'), { recursive: true });
      const staging = fs.mkdtempSync(path.join(projectRoot, '.tools', 'build-'));
      try {
        const modules = group.map((t) => t.module);
        log(`Building ${group.map((t) => t.what).join(' and ')} (${modules.join(' ')}) into .tools/bin; several minutes with a cold Go cache.`);
        const t0 = Date.now();
        const result = spawnSync(go, ['install', ...modules], {
          env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod' },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        if (result.status !== 0) throw new Error(`go install ${modules.join(' ')} failed (exit ${result.status}); see the output above.`);
        fs.mkdirSync(binDir, { recursive: true });
        for (const t of group) {
          const built = path.join(staging, t.installsAs);
          if (!isExecutable(built)) throw new Error(`go install ${t.module} produced no ${t.installsAs}`);
          fs.renameSync(built, path.join(binDir, t.file));
          found.set(t, path.join(binDir, t.file));
        }
        log(`Built in ${Math.round((Date.now() - t0) / 1000)} s.`);
      } finally {
        fs.rmSync(staging, { recursive: true, force: true });
      }
    }
  }
  return tools.map((t) => found.get(t)!);
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findOnPath(cmd: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
    return out && isExecutable(out) ? out : undefined;
  } catch {
    return undefined;
  }
}
