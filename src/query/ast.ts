/**
 * The syntax tree of a filter expression. `and`/`or` hold flat operand lists so a long chain
 * (`a and b and c …`) never deepens the tree; only parentheses and `not` do, and those are capped.
 */

export type Literal = number | string | boolean | null;

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Node =
  | { readonly kind: 'or'; readonly operands: readonly Node[] }
  | { readonly kind: 'and'; readonly operands: readonly Node[] }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'exists'; readonly path: readonly string[] }
  | { readonly kind: 'compare'; readonly path: readonly string[]; readonly op: CompareOp; readonly value: Literal }
  | { readonly kind: 'glob'; readonly path: readonly string[]; readonly pattern: string };
