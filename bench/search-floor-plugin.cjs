/**
 * Row 1's floor, measured alongside and not judged: a ts-patch transformer that does the least any site search
 * must do (visit every node, ask the checker what each call's callee is) and rewrites nothing. `tspc` with it
 * against `tspc` alone is the part of the plugin's cost that no implementation of the search avoids.
 */
module.exports = (program, _config, { ts }) => {
  const checker = program.getTypeChecker();
  const call = ts.SyntaxKind.CallExpression;
  const member = ts.SyntaxKind.PropertyAccessExpression;
  const visit = (node) => {
    if (node.kind === call) checker.getSymbolAtLocation(node.expression.kind === member ? node.expression.name : node.expression);
    ts.forEachChild(node, visit);
  };
  return () => (sf) => {
    visit(sf);
    return sf;
  };
};
