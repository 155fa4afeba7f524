// The size check `npm run lint` runs: lists every file under sidecar/ longer than 400 lines and every function in
// sidecar/ (TypeScript and the worker's Python) and addon/ longer than 80 lines, so that a reader can hold each one.
//
// A file or function may stay bigger when a note says why: a comment holding `size: <why>` among the file's first
// 10 lines exempts the file; the same comment directly above a function (above its decorators, JSDoc included)
// exempts that function. Exit code 1 when anything is listed.
//
//   node build/check-size.mjs            check the repository
//   node build/check-size.mjs --root DIR check another tree laid out the same way (the tests use this)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;
const FILE_ROOTS = ['sidecar'];
const FUNCTION_ROOTS = ['sidecar', 'addon'];
const PRAGMA = /^\s*(?:\/\/|#|\/?\*+)\s*size:\s*\S/;
const COMMENT = /^\s*(?:\/\/|#|\/\*|\*)/;
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === '__pycache__' || name.startsWith('.')) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return /\.(ts|py)$/.test(name) ? [path] : [];
  });
}

/** True when the comment block directly above line `start` (1-based; decorators skipped) holds a `size:` note. */
function notedAbove(lines, start) {
  for (let i = start - 2; i >= 0; i--) {
    const line = lines[i];
    if (PRAGMA.test(line)) return true;
    if (!COMMENT.test(line) && !/^\s*@/.test(line)) return false;
  }
  return false;
}

function tsFunctions(path, text) {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const nameOf = (node) => {
    if (node.name) return node.name.getText(source);
    const parent = node.parent;
    if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
      return parent.name.getText(source);
    if (ts.isConstructorDeclaration(node)) return 'constructor';
    return '(anonymous)';
  };
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      // Measured from the declaration (or the statement holding an arrow function) to the body's end.
      const holder = ts.isArrowFunction(node) || ts.isFunctionExpression(node) ? statementOf(node) : node;
      const start = source.getLineAndCharacterOfPosition(holder.getStart(source)).line + 1;
      const end = source.getLineAndCharacterOfPosition(node.body.getEnd()).line + 1;
      found.push({ name: nameOf(node), line: start, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The line where an arrow function's own statement or property starts, so a note above it is found. */
function statementOf(node) {
  let n = node;
  while (
    n.parent &&
    !ts.isSourceFile(n.parent) &&
    !ts.isBlock(n.parent) &&
    !ts.isObjectLiteralExpression(n.parent) &&
    !ts.isClassLike(n.parent)
  ) {
    n = n.parent;
  }
  return n;
}

const PY_FUNCTIONS = `
import ast, json, sys
out = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    out[path] = [
        {"name": n.name, "line": min([n.lineno] + [d.lineno for d in n.decorator_list]), "lines": n.end_lineno - n.lineno + 1}
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
print(json.dumps(out))
`;

function pyFunctions(paths) {
  if (paths.length === 0) return {};
  const r = spawnSync('python3', ['-c', PY_FUNCTIONS, ...paths], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python3 could not parse the Python files: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout);
}

/** Every oversize file and function among `paths` (absolute), as `{ path, line, what }`; `base` is the repository root. */
export function oversize(paths, base = root) {
  const rel = (p) => relative(base, p).split('\\').join('/');
  const under = (p, roots) => roots.some((r) => rel(p).startsWith(`${r}/`));
  const py = pyFunctions(paths.filter((p) => p.endsWith('.py') && under(p, FUNCTION_ROOTS)));
  const listed = [];
  for (const path of paths) {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const count = text.endsWith('\n') ? lines.length - 1 : lines.length;
    const fileNoted = lines.slice(0, 10).some((l) => PRAGMA.test(l));
    if (under(path, FILE_ROOTS) && count > MAX_FILE_LINES && !fileNoted) {
      listed.push({ path: rel(path), line: 1, what: `file has ${count} lines (limit ${MAX_FILE_LINES})` });
    }
    if (!under(path, FUNCTION_ROOTS)) continue;
    const functions = path.endsWith('.ts') ? tsFunctions(path, text) : (py[path] ?? []);
    for (const f of functions) {
      if (f.lines > MAX_FUNCTION_LINES && !notedAbove(lines, f.line)) {
        listed.push({ path: rel(path), line: f.line, what: `function ${f.name} has ${f.lines} lines (limit ${MAX_FUNCTION_LINES})` });
      }
    }
  }
  return listed;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args[0] === '--root' && args[1] ? resolve(args[1]) : root;
  const roots = FUNCTION_ROOTS.map((r) => join(at, r)).filter((dir) => existsSync(dir));
  const listed = oversize(
    roots.flatMap((dir) => walk(dir)),
    at,
  );
  for (const o of listed) console.log(`${o.path}:${o.line}  ${o.what}`);
  if (listed.length > 0) {
    console.log(
      `\n${listed.length} over the size limits: split them, or put a comment "size: <why>" at the top of the file or above the function.`,
    );
    process.exitCode = 1;
  }
}
