import crypto from 'node:crypto';
import type * as TS from 'typescript';

/** A problem in a script's source; line and column are 1-based. */
export interface SourceProblem {
  message: string;
  line?: number;
  column?: number;
}

export type ScriptLanguage = 'javascript' | 'typescript';

let tsModule: typeof TS | undefined;
/** The TypeScript compiler, loaded on first use (it is large, and only scripts need it). */
function ts(): typeof TS {
  tsModule ??= require('typescript') as typeof TS;
  return tsModule;
}

/** The file name a script has in positions and stack traces. */
export function scriptFileName(language: ScriptLanguage): string {
  return language === 'typescript' ? 'script.ts' : 'script.js';
}

const COMPILER_OPTIONS = (t: typeof TS): TS.CompilerOptions => ({
  target: t.ScriptTarget.ES2020, // QuickJS runs ES2020 and more; downlevel anything newer
  module: t.ModuleKind.ESNext, // keep import/export as written, so they are refused, never rewritten to require()
  removeComments: false,
  sourceMap: false,
});

/**
 * Save-time checks: syntax (TypeScript's parser, for both languages: it knows line and column), then
 * the convention: no import/export, and a top-level `deliver` (a function declaration or a
 * const/let/var holding one). Never runs the script.
 */
export function checkSource(language: ScriptLanguage, source: string): SourceProblem[] {
  const t = ts();
  const fileName = scriptFileName(language);
  let diagnostics: readonly TS.Diagnostic[];
  let file: TS.SourceFile;
  try {
    diagnostics = t.transpileModule(source, { fileName, reportDiagnostics: true, compilerOptions: COMPILER_OPTIONS(t) }).diagnostics ?? [];
    file = t.createSourceFile(fileName, source, t.ScriptTarget.Latest, true, language === 'typescript' ? t.ScriptKind.TS : t.ScriptKind.JS);
  } catch (err) {
    if (err instanceof RangeError) return [{ message: 'the script is nested too deeply to be parsed' }];
    throw err;
  }
  const at = (pos: number) => {
    const lc = file.getLineAndCharacterOfPosition(pos);
    return { line: lc.line + 1, column: lc.character + 1 };
  };
  const syntax = diagnostics
    .filter((d) => d.category === t.DiagnosticCategory.Error)
    .slice(0, 5)
    .map((d) => ({ message: t.flattenDiagnosticMessageText(d.messageText, ' '), ...(d.start !== undefined ? at(d.start) : {}) }));
  if (syntax.length > 0) return syntax;

  const problems: SourceProblem[] = [];
  let declaresDeliver = false;
  for (const st of file.statements) {
    const exported = t.canHaveModifiers(st) && t.getModifiers(st)?.some((m) => m.kind === t.SyntaxKind.ExportKeyword);
    if (exported || t.isImportDeclaration(st) || t.isImportEqualsDeclaration(st) || t.isExportDeclaration(st) || t.isExportAssignment(st)) {
      problems.push({
        message: 'import and export are not available in scripts: define `async function deliver(event, ctx)` at the top level',
        ...at(st.getStart(file)),
      });
    }
    if (t.isFunctionDeclaration(st) && st.name?.text === 'deliver') declaresDeliver = true;
    if (t.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (t.isIdentifier(d.name) && d.name.text === 'deliver') declaresDeliver = true;
    }
  }
  if (!declaresDeliver) problems.push({ message: 'the script must define `async function deliver(event, ctx)` at its top level' });
  return problems;
}

const cache = new Map<string, string>();
const CACHE_ENTRIES = 64;

/** The JavaScript QuickJS runs: the source itself, or TypeScript transpiled (remembered by content). */
export function toJavaScript(language: ScriptLanguage, source: string): string {
  if (language === 'javascript') return source;
  const key = crypto.createHash('sha256').update(source).digest('base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key); // most recently used goes last
    cache.set(key, hit);
    return hit;
  }
  const t = ts();
  const js = t.transpileModule(source, { fileName: 'script.ts', compilerOptions: COMPILER_OPTIONS(t) }).outputText;
  cache.set(key, js);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  return js;
}
