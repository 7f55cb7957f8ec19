/**
 * A small interpreter for the part of Helm's template language that helm/scprivacy uses, so the
 * chart can be rendered and its manifests checked on machines without the helm binary.
 *
 * It is not Helm: it knows Go text/template's actions (if / else if / else / range / with /
 * define / variables / pipelines / parentheses / trim markers) and the Sprig and Helm functions
 * listed in FUNCTIONS, nothing else; an unknown function is an error, so a template that starts
 * using one fails here until it is added. Semantics follow Go's where the chart depends on them:
 * truthiness, `and` / `or` returning an operand and short-circuiting, a missing map key giving
 * nil but a field of nil being an error, Sprig's `default` / `empty` / `required`, Helm's
 * `include` (named templates and template files) and `toYaml` (sorted keys, no trailing newline).
 * Numbers print as JavaScript prints them (Helm prints large float64 values in e-notation:
 * the chart pipes such values through `int64`).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

type Value = unknown;
type Dict = Record<string, Value>;

// ---- Parsing ----------------------------------------------------------------------------

type Token =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'field'; base: string | null; path: string[] } // base: null = dot, '$' or '$name'
  | { kind: 'ident'; name: string }
  | { kind: 'punct'; value: '(' | ')' | '|' | ':=' | '=' | ',' };

interface Pipeline {
  declare?: { names: string[]; op: ':=' | '=' };
  /** Commands separated by "|"; each is its operands (a function name first, if any). */
  commands: Operand[][];
}
/** A token, or a parenthesised pipeline. */
type Operand = Token | { kind: 'sub'; pipeline: Pipeline };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: Pipeline }
  | { kind: 'if'; branches: { cond: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] }
  | { kind: 'with'; pipeline: Pipeline; body: Node[]; otherwise: Node[] };

interface RawAction {
  body: string;
  line: number;
}

function lexAction(src: string, where: string): Operand[] {
  const out: Operand[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out.push({ kind: 'string', value: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      out.push({ kind: 'string', value: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ kind: 'punct', value: c });
      i++;
    } else if (src.startsWith(':=', i)) {
      out.push({ kind: 'punct', value: ':=' });
      i += 2;
    } else if (c === '=') {
      out.push({ kind: 'punct', value: '=' });
      i++;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
      if (!m) throw new Error(`${where}: bad number at "${src.slice(i)}"`);
      out.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (c === '.' || c === '$') {
      const m = /^(\$[A-Za-z0-9_]*)?((\.[A-Za-z0-9_]+)*)(\.)?/.exec(src.slice(i));
      if (!m || m[0].length === 0) throw new Error(`${where}: bad field at "${src.slice(i)}"`);
      const path = m[2] ? m[2].slice(1).split('.') : [];
      out.push({ kind: 'field', base: m[1] ?? null, path });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ kind: 'ident', name: m[0] });
      i += m[0].length;
    } else {
      throw new Error(`${where}: unexpected "${c}" in action "${src}"`);
    }
  }
  return out;
}

function parsePipeline(tokens: Operand[], where: string): Pipeline {
  let pos = 0;
  const pipeline: Pipeline = { commands: [] };
  // Variable declaration: $a := ..., $a, $b := ..., $a = ...
  const declEnd = tokens.findIndex((t) => t.kind === 'punct' && (t.value === ':=' || t.value === '='));
  if (declEnd > 0) {
    const names = tokens
      .slice(0, declEnd)
      .filter((t) => !(t.kind === 'punct' && t.value === ','))
      .map((t) => {
        if (t.kind !== 'field' || !t.base || t.path.length) throw new Error(`${where}: bad declaration`);
        return t.base;
      });
    const op = (tokens[declEnd] as { value: ':=' | '=' }).value;
    pipeline.declare = { names, op };
    pos = declEnd + 1;
  }
  const parseOperands = (stopAtParen: boolean): Pipeline => {
    const pipe: Pipeline = { commands: [[]] };
    while (pos < tokens.length) {
      const t = tokens[pos];
      if (t.kind === 'punct' && t.value === ')') {
        if (!stopAtParen) throw new Error(`${where}: unbalanced ")"`);
        return pipe;
      }
      pos++;
      if (t.kind === 'punct' && t.value === '|') {
        pipe.commands.push([]);
      } else if (t.kind === 'punct' && t.value === '(') {
        const sub = parseOperands(true);
        pos++; // ')'
        pipe.commands[pipe.commands.length - 1].push({ kind: 'sub', pipeline: sub });
      } else {
        pipe.commands[pipe.commands.length - 1].push(t);
      }
    }
    if (stopAtParen) throw new Error(`${where}: unbalanced "("`);
    return pipe;
  };
  pipeline.commands = parseOperands(false).commands;
  if (pipeline.commands.some((c) => c.length === 0)) throw new Error(`${where}: empty command`);
  return pipeline;
}

/** Splits a template into text and actions, applying the trim markers. */
function scan(src: string, name: string): (string | RawAction)[] {
  const items: (string | RawAction)[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      items.push(text);
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(src.slice(start))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    items.push(text);
    let close: number;
    if (/^\s*\/\*/.test(src.slice(start))) {
      close = src.indexOf('*/', start) + 2;
      close = src.indexOf('}}', close);
    } else {
      close = src.indexOf('}}', start);
    }
    if (close < 0) throw new Error(`${name}: unclosed action at offset ${open}`);
    let body = src.slice(start, close);
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    items.push({ body: body.trim(), line: src.slice(0, open).split('\n').length });
    i = close + 2;
  }
  return items;
}

interface Parsed {
  nodes: Node[];
  defines: Map<string, Node[]>;
}

function parse(src: string, name: string): Parsed {
  const items = scan(src, name);
  const defines = new Map<string, Node[]>();
  let pos = 0;
  // Parses nodes until one of the given keywords; returns the nodes and the stopping action.
  const parseList = (stops: string[]): { nodes: Node[]; stop?: { word: string; rest: string } } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const item = items[pos++];
      if (typeof item === 'string') {
        if (item) nodes.push({ kind: 'text', text: item });
        continue;
      }
      const where = `${name}:${item.line}`;
      if (item.body.startsWith('/*')) continue;
      const m = /^(if|else|end|range|with|define)\b\s*([\s\S]*)$/.exec(item.body);
      const word = m?.[1];
      const rest = m?.[2] ?? '';
      if (word && stops.includes(word)) return { nodes, stop: { word, rest } };
      if (word === 'end' || word === 'else') throw new Error(`${where}: unexpected {{ ${word} }}`);
      if (word === 'if') {
        const branches: { cond: Pipeline; body: Node[] }[] = [];
        let cond = parsePipeline(lexAction(rest, where), where);
        let otherwise: Node[] = [];
        for (;;) {
          const part = parseList(['else', 'end']);
          branches.push({ cond, body: part.nodes });
          if (!part.stop) throw new Error(`${where}: {{ if }} without {{ end }}`);
          if (part.stop.word === 'end') break;
          const elseIf = /^if\b\s*([\s\S]*)$/.exec(part.stop.rest);
          if (elseIf) {
            cond = parsePipeline(lexAction(elseIf[1], where), where);
            continue;
          }
          const last = parseList(['end']);
          if (!last.stop) throw new Error(`${where}: {{ else }} without {{ end }}`);
          otherwise = last.nodes;
          break;
        }
        nodes.push({ kind: 'if', branches, otherwise });
      } else if (word === 'range' || word === 'with') {
        const pipeline = parsePipeline(lexAction(rest, where), where);
        const body = parseList(['else', 'end']);
        if (!body.stop) throw new Error(`${where}: {{ ${word} }} without {{ end }}`);
        let otherwise: Node[] = [];
        if (body.stop.word === 'else') {
          const last = parseList(['end']);
          if (!last.stop) throw new Error(`${where}: {{ else }} without {{ end }}`);
          otherwise = last.nodes;
        }
        nodes.push({ kind: word, pipeline, body: body.nodes, otherwise });
      } else if (word === 'define') {
        const defName = JSON.parse(rest.trim()) as string;
        const body = parseList(['end']);
        if (!body.stop) throw new Error(`${where}: {{ define }} without {{ end }}`);
        defines.set(defName, body.nodes);
      } else {
        nodes.push({ kind: 'output', pipeline: parsePipeline(lexAction(item.body, where), where) });
      }
    }
    return { nodes };
  };
  const top = parseList([]);
  return { nodes: top.nodes, defines };
}

// ---- Evaluation -------------------------------------------------------------------------

/** Raised by `fail` and `required`, as Helm aborts the render. */
export class TemplateFailure extends Error {}

function isDict(v: Value): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's truth (and Sprig's `empty`, negated). */
export function truthy(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

function printValue(v: Value): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`printing a ${Array.isArray(v) ? 'list' : 'map'} (${JSON.stringify(v)}): almost surely a bug`);
}

/** Helm's toYaml: sigs.k8s.io/yaml output (sorted keys, lists at the parent's indentation). */
export function toYaml(v: Value): string {
  if (v === null || v === undefined) return 'null';
  return stringify(v, { sortMapEntries: true, indentSeq: false, lineWidth: 0 }).replace(/\n$/, '');
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function sprintf(format: string, args: Value[]): string {
  let n = 0;
  return format.replace(/%([sdqv%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const a = args[n++];
    if (verb === 'q') return goQuote(printValue(a));
    if (verb === 'd') return String(Math.trunc(Number(a)));
    return printValue(a);
  });
}

function deepCopy<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

/** Sprig's merge (mergo without override): fills keys that are missing or empty in dst. */
function mergeInto(dst: Dict, src: Dict): Dict {
  for (const [k, v] of Object.entries(src)) {
    if (isDict(dst[k]) && isDict(v)) mergeInto(dst[k] as Dict, v);
    else if (!truthy(dst[k])) dst[k] = deepCopy(v);
  }
  return dst;
}

interface Scope {
  vars: Map<string, Value>[];
}

export interface ChartFile {
  /** Path as Helm names it, e.g. "scprivacy/templates/configmap.yaml". */
  name: string;
  source: string;
}

export class ChartRenderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly files = new Map<string, Node[]>();

  constructor(files: ChartFile[]) {
    for (const f of files) {
      const parsed = parse(f.source, f.name);
      this.files.set(f.name, parsed.nodes);
      for (const [k, v] of parsed.defines) this.defines.set(k, v);
    }
    // Helm makes every template file includable by its path as well.
    for (const [k, v] of this.files) this.defines.set(k, v);
  }

  /** Renders one template file with the top-level object (Values, Release, Chart, Template). */
  render(name: string, root: Dict): string {
    const nodes = this.files.get(name);
    if (!nodes) throw new Error(`no template ${name}`);
    return this.exec(nodes, root, { vars: [new Map([['$', root]])] });
  }

  private exec(nodes: Node[], dot: Value, scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'output': {
          const v = this.pipeline(node.pipeline, dot, scope);
          if (!node.pipeline.declare) out += printValue(v);
          break;
        }
        case 'if': {
          let done = false;
          for (const b of node.branches) {
            const inner = { vars: [...scope.vars, new Map()] };
            if (truthy(this.pipeline(b.cond, dot, inner))) {
              out += this.exec(b.body, dot, inner);
              done = true;
              break;
            }
          }
          if (!done) out += this.exec(node.otherwise, dot, { vars: [...scope.vars, new Map()] });
          break;
        }
        case 'with': {
          const inner = { vars: [...scope.vars, new Map()] };
          const v = this.pipeline(node.pipeline, dot, inner);
          out += truthy(v) ? this.exec(node.body, v, inner) : this.exec(node.otherwise, dot, inner);
          break;
        }
        case 'range': {
          const decl = node.pipeline.declare;
          const p = { ...node.pipeline, declare: undefined };
          const coll = this.pipeline(p, dot, scope);
          const entries: [Value, Value][] = Array.isArray(coll)
            ? coll.map((v, i) => [i, v])
            : isDict(coll)
              ? Object.keys(coll)
                  .sort()
                  .map((k) => [k, coll[k]])
              : coll === null || coll === undefined
                ? []
                : (() => {
                    throw new Error(`range over ${typeof coll}`);
                  })();
          if (entries.length === 0) out += this.exec(node.otherwise, dot, scope);
          for (const [k, v] of entries) {
            const vars = new Map<string, Value>();
            if (decl?.names.length === 1) vars.set(decl.names[0], v);
            if (decl?.names.length === 2) {
              vars.set(decl.names[0], k);
              vars.set(decl.names[1], v);
            }
            out += this.exec(node.body, v, { vars: [...scope.vars, vars] });
          }
          break;
        }
      }
    }
    return out;
  }

  private pipeline(p: Pipeline, dot: Value, scope: Scope): Value {
    let value: Value = undefined;
    p.commands.forEach((cmd, i) => {
      value = this.command(cmd, dot, scope, i === 0 ? [] : [value]);
    });
    if (p.declare) {
      const name = p.declare.names[p.declare.names.length - 1];
      if (p.declare.op === ':=') scope.vars[scope.vars.length - 1].set(name, value);
      else {
        const frame = [...scope.vars].reverse().find((f) => f.has(name));
        if (!frame) throw new Error(`assignment to undeclared ${name}`);
        frame.set(name, value);
      }
    }
    return value;
  }

  private command(cmd: Operand[], dot: Value, scope: Scope, piped: Value[]): Value {
    const [head, ...rest] = cmd;
    if (head.kind === 'ident' && !['true', 'false', 'nil'].includes(head.name)) {
      if (head.name === 'and' || head.name === 'or') {
        // Go evaluates their operands lazily and returns the deciding one.
        const args = [...rest.map((a) => () => this.operand(a, dot, scope)), ...piped.map((v) => () => v)];
        let last: Value = undefined;
        for (const arg of args) {
          last = arg();
          if (head.name === 'and' ? !truthy(last) : truthy(last)) return last;
        }
        return last;
      }
      const args = [...rest.map((a) => this.operand(a, dot, scope)), ...piped];
      return this.call(head.name, args);
    }
    if (rest.length || piped.length) throw new Error(`cannot give arguments to a non-function`);
    return this.operand(head, dot, scope);
  }

  private operand(t: Operand, dot: Value, scope: Scope): Value {
    switch (t.kind) {
      case 'string':
      case 'number':
        return t.value;
      case 'sub':
        return this.pipeline(t.pipeline, dot, scope);
      case 'ident':
        if (t.name === 'true') return true;
        if (t.name === 'false') return false;
        if (t.name === 'nil') return null;
        return this.call(t.name, []);
      case 'field': {
        let v: Value = dot;
        if (t.base) {
          const frame = [...scope.vars].reverse().find((f) => f.has(t.base!));
          if (!frame) throw new Error(`undefined variable ${t.base}`);
          v = frame.get(t.base);
        }
        let seen = t.base ?? '';
        for (const key of t.path) {
          if (v === null || v === undefined) throw new Error(`nil pointer evaluating ${seen || '.'}.${key}`);
          if (!isDict(v)) throw new Error(`can't evaluate field ${key} in ${typeof v} (${seen})`);
          v = v[key];
          seen += `.${key}`;
        }
        return v;
      }
      default:
        throw new Error(`unexpected token ${JSON.stringify(t)}`);
    }
  }

  private call(name: string, a: Value[]): Value {
    const str = (v: Value) => printValue(v);
    switch (name) {
      case 'include': {
        const body = this.defines.get(str(a[0]));
        if (!body) throw new Error(`include: no template "${str(a[0])}"`);
        const root = a[1];
        return this.exec(body, root, { vars: [new Map([['$', root]])] });
      }
      case 'required':
        if (a[1] === null || a[1] === undefined || a[1] === '') throw new TemplateFailure(str(a[0]));
        return a[1];
      case 'fail':
        throw new TemplateFailure(str(a[0]));
      case 'default':
        return truthy(a[1]) ? a[1] : a[0];
      case 'empty':
        return !truthy(a[0]);
      case 'not':
        return !truthy(a[0]);
      case 'eq':
        return a.slice(1).some((b) => b === a[0]);
      case 'ne':
        return a[0] !== a[1];
      case 'lt':
        return Number(a[0]) < Number(a[1]);
      case 'le':
        return Number(a[0]) <= Number(a[1]);
      case 'gt':
        return Number(a[0]) > Number(a[1]);
      case 'ge':
        return Number(a[0]) >= Number(a[1]);
      case 'ternary':
        return a[2] ? a[0] : a[1];
      case 'toYaml':
        return toYaml(a[0]);
      case 'toString':
        return str(a[0]);
      case 'quote':
        return a.map((v) => (v === null || v === undefined ? '' : goQuote(str(v)))).join(' ');
      case 'printf':
        return sprintf(str(a[0]), a.slice(1));
      case 'print':
        return a.map(str).join('');
      case 'nindent':
      case 'indent': {
        const pad = ' '.repeat(Number(a[0]));
        const text = pad + str(a[1]).replace(/\n/g, `\n${pad}`);
        return name === 'nindent' ? `\n${text}` : text;
      }
      case 'trunc':
        return str(a[1]).slice(0, Number(a[0]));
      case 'trimSuffix':
        return str(a[1]).endsWith(str(a[0])) ? str(a[1]).slice(0, -str(a[0]).length || undefined) : str(a[1]);
      case 'replace':
        return str(a[2]).split(str(a[0])).join(str(a[1]));
      case 'contains':
        return str(a[1]).includes(str(a[0]));
      case 'regexMatch':
        return new RegExp(str(a[0])).test(str(a[1]));
      case 'int':
      case 'int64':
        return Math.trunc(Number(a[0] ?? 0));
      case 'len':
        return Array.isArray(a[0]) ? a[0].length : isDict(a[0]) ? Object.keys(a[0]).length : str(a[0]).length;
      case 'sha256sum':
        return createHash('sha256').update(str(a[0])).digest('hex');
      case 'dict': {
        const d: Dict = {};
        for (let i = 0; i < a.length; i += 2) d[str(a[i])] = a[i + 1];
        return d;
      }
      case 'list':
        return [...a];
      case 'append':
        return [...(a[0] as Value[]), a[1]];
      case 'has':
        return Array.isArray(a[1]) && a[1].includes(a[0]);
      case 'hasKey':
        return isDict(a[0]) && Object.prototype.hasOwnProperty.call(a[0], str(a[1]));
      case 'set':
        (a[0] as Dict)[str(a[1])] = a[2];
        return a[0];
      case 'deepCopy':
        return deepCopy(a[0]);
      case 'merge':
        return a.slice(1).reduce((d: Dict, s) => mergeInto(d, (s ?? {}) as Dict), a[0] as Dict);
      default:
        throw new Error(`function "${name}" not defined (add it to test/helm/go-template.ts if Helm has it)`);
    }
  }
}

/** Helm's value coalescing: user values over the chart's defaults, maps merged, lists replaced. */
export function coalesceValues(defaults: Value, overrides: Value): Value {
  if (!isDict(defaults) || !isDict(overrides)) return overrides === undefined ? deepCopy(defaults) : overrides;
  const out: Dict = deepCopy(defaults);
  for (const [k, v] of Object.entries(overrides)) out[k] = coalesceValues(out[k], v);
  return out;
}
