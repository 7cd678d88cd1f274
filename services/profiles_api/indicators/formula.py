"""Formulas of derived indicators: arithmetic over other indicators' codes.

``foreign_nationals / population * 100`` is parsed once, checked to hold only numbers,
indicator codes, ``+ - * /`` and parentheses, and kept as text in the catalogue.
"""

from __future__ import annotations

import ast

_ALLOWED_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div)


class FormulaError(ValueError):
    pass


def formula_inputs(formula: str) -> list[str]:
    """The indicator codes ``formula`` reads, in order of first use; ``FormulaError`` if unsafe."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"not an arithmetic expression: {exc.msg}") from exc
    inputs: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            visit(node.body)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ALLOWED_OPERATORS):
            visit(node.left)
            visit(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            visit(node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return
        elif isinstance(node, ast.Name):
            if node.id not in inputs:
                inputs.append(node.id)
        else:
            raise FormulaError(
                f"only numbers, indicator codes, + - * / and parentheses are allowed, "
                f"not {ast.unparse(node)!r}"
            )

    visit(tree)
    if not inputs:
        raise FormulaError("a formula must read at least one indicator")
    return inputs
