/**
 * The node builders the rewrite uses, without @babel/types's field validation: every part handed to them is a
 * node the parser made or one built here, and validating each field of each node was a third of the rewrite's
 * time. Each returns the object @babel/types's builder of the same name returns (same fields, same defaults), so
 * the generated code is the same.
 */
import type * as T from "@babel/types";

type Expr = T.Expression;

export const identifier = (name: string): T.Identifier => ({ type: "Identifier", name }) as T.Identifier;
/**
 * Printable ASCII but `"` and `\\`, and line feeds: what the generator's escaping (jsesc) prints as it is between
 * double quotes, a line feed as `\\n`.
 */
const PLAIN_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e\n]*$/;

/**
 * A string literal; for plain text with its printed form (`extra.raw`, which the generator prints as it is): the
 * same text jsesc would print, without running jsesc on the rewrite's paths, specifiers and site tables (rows
 * joined by line feeds, the longest string of a rewritten file).
 */
export const stringLiteral = (value: string): T.StringLiteral =>
  (PLAIN_TEXT.test(value) ? { type: "StringLiteral", value, extra: { raw: `"${value.replace(/\n/g, "\\n")}"`, rawValue: value } } : { type: "StringLiteral", value }) as T.StringLiteral;
export const numericLiteral = (value: number): T.NumericLiteral => ({ type: "NumericLiteral", value }) as T.NumericLiteral;
export const nullLiteral = (): T.NullLiteral => ({ type: "NullLiteral" }) as T.NullLiteral;
export const thisExpression = (): T.ThisExpression => ({ type: "ThisExpression" }) as T.ThisExpression;

export const memberExpression = (object: Expr | T.Super, property: Expr | T.PrivateName, computed = false): T.MemberExpression =>
  ({ type: "MemberExpression", object, property, computed, optional: null }) as T.MemberExpression;
export const optionalMemberExpression = (object: Expr, property: Expr, computed: boolean, optional: boolean): T.OptionalMemberExpression =>
  ({ type: "OptionalMemberExpression", object, property, computed, optional }) as T.OptionalMemberExpression;
export const callExpression = (callee: Expr | T.Super | T.V8IntrinsicIdentifier, args: T.CallExpression["arguments"]): T.CallExpression =>
  ({ type: "CallExpression", callee, arguments: args }) as T.CallExpression;
export const taggedTemplateExpression = (tag: Expr, quasi: T.TemplateLiteral): T.TaggedTemplateExpression =>
  ({ type: "TaggedTemplateExpression", tag, quasi }) as T.TaggedTemplateExpression;
export const arrayExpression = (elements: T.ArrayExpression["elements"] = []): T.ArrayExpression => ({ type: "ArrayExpression", elements }) as T.ArrayExpression;
export const spreadElement = (argument: Expr): T.SpreadElement => ({ type: "SpreadElement", argument }) as T.SpreadElement;
export const sequenceExpression = (expressions: Expr[]): T.SequenceExpression => ({ type: "SequenceExpression", expressions }) as T.SequenceExpression;
export const arrowFunctionExpression = (params: T.ArrowFunctionExpression["params"], body: T.BlockStatement | Expr): T.ArrowFunctionExpression =>
  ({ type: "ArrowFunctionExpression", params, body, async: false, expression: null }) as unknown as T.ArrowFunctionExpression;
export const assignmentExpression = (operator: string, left: T.LVal, right: Expr): T.AssignmentExpression =>
  ({ type: "AssignmentExpression", operator, left, right }) as T.AssignmentExpression;
export const binaryExpression = (operator: T.BinaryExpression["operator"], left: Expr, right: Expr): T.BinaryExpression =>
  ({ type: "BinaryExpression", operator, left, right }) as T.BinaryExpression;
export const logicalExpression = (operator: T.LogicalExpression["operator"], left: Expr, right: Expr): T.LogicalExpression =>
  ({ type: "LogicalExpression", operator, left, right }) as T.LogicalExpression;
export const unaryExpression = (operator: T.UnaryExpression["operator"], argument: Expr): T.UnaryExpression =>
  ({ type: "UnaryExpression", operator, argument, prefix: true }) as T.UnaryExpression;
export const conditionalExpression = (test: Expr, consequent: Expr, alternate: Expr): T.ConditionalExpression =>
  ({ type: "ConditionalExpression", test, consequent, alternate }) as T.ConditionalExpression;

export const variableDeclarator = (id: T.LVal, init: Expr | null = null): T.VariableDeclarator => ({ type: "VariableDeclarator", id, init }) as T.VariableDeclarator;
export const variableDeclaration = (kind: T.VariableDeclaration["kind"], declarations: T.VariableDeclarator[]): T.VariableDeclaration =>
  ({ type: "VariableDeclaration", kind, declarations }) as T.VariableDeclaration;
export const expressionStatement = (expression: Expr): T.ExpressionStatement => ({ type: "ExpressionStatement", expression }) as T.ExpressionStatement;
export const returnStatement = (argument: Expr | null = null): T.ReturnStatement => ({ type: "ReturnStatement", argument }) as T.ReturnStatement;
export const blockStatement = (body: T.Statement[]): T.BlockStatement => ({ type: "BlockStatement", body, directives: [] }) as T.BlockStatement;
export const importNamespaceSpecifier = (local: T.Identifier): T.ImportNamespaceSpecifier => ({ type: "ImportNamespaceSpecifier", local }) as T.ImportNamespaceSpecifier;
export const importDeclaration = (specifiers: T.ImportDeclaration["specifiers"], source: T.StringLiteral): T.ImportDeclaration =>
  ({ type: "ImportDeclaration", specifiers, source, attributes: null }) as T.ImportDeclaration;
