import type { Literal, Node } from './ast.ts';
import { compileGlob } from './glob.ts';

/** A compiled filter: one closure per node, built once and run against many twins. */
export type Predicate = (twin: object) => boolean;

/**
 * Walks own properties of plain objects only: arrays are not indexed and inherited keys such as
 * `constructor` never resolve. `undefined` stands for "missing", which JSON cannot otherwise hold.
 */
function resolve(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (let i = 0; i < path.length; i++) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const key = path[i] as string;
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function ordered(path: readonly string[], literal: Literal, holds: (a: number | string, b: number | string) => boolean): Predicate {
  if (typeof literal !== 'number' && typeof literal !== 'string') return () => false;
  const kind = typeof literal;
  return (twin) => {
    const value = resolve(twin, path);
    return typeof value === kind && holds(value as number | string, literal);
  };
}

/** Turns a syntax tree into a predicate. The predicate never throws, whatever object it is given. */
export function compile(node: Node): Predicate {
  switch (node.kind) {
    case 'or': {
      const operands = node.operands.map(compile);
      return (twin) => {
        for (let i = 0; i < operands.length; i++) if ((operands[i] as Predicate)(twin)) return true;
        return false;
      };
    }
    case 'and': {
      const operands = node.operands.map(compile);
      return (twin) => {
        for (let i = 0; i < operands.length; i++) if (!(operands[i] as Predicate)(twin)) return false;
        return true;
      };
    }
    case 'not': {
      const operand = compile(node.operand);
      return (twin) => !operand(twin);
    }
    case 'exists': {
      const { path } = node;
      return (twin) => resolve(twin, path) !== undefined;
    }
    case 'glob': {
      const { path } = node;
      const matches = compileGlob(node.pattern);
      return (twin) => {
        const value = resolve(twin, path);
        return typeof value === 'string' && matches(value);
      };
    }
    case 'compare': {
      const { path, value: literal } = node;
      // Literals are scalars, so JSON deep equality with one is strict equality: an object or
      // array value is never equal, and a missing one (undefined) never equals a literal.
      switch (node.op) {
        case '==': return (twin) => resolve(twin, path) === literal;
        case '!=': return (twin) => resolve(twin, path) !== literal;
        case '<': return ordered(path, literal, (a, b) => a < b);
        case '<=': return ordered(path, literal, (a, b) => a <= b);
        case '>': return ordered(path, literal, (a, b) => a > b);
        case '>=': return ordered(path, literal, (a, b) => a >= b);
      }
    }
  }
}
