"""A derived indicator's formula as a SQL expression over its inputs' values.

``foreign_nationals / population * 100`` over inputs bound to ``i0`` and ``i1`` becomes
``((i0.value / NULLIF(i1.value, 0)) * 100.0)``: a division by zero gives NULL, and a NULL
value is not stored. The formula is the catalogue's, already checked by ``formula_inputs``;
the expression holds only the given column references, numeric literals and operators.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping

from services.profiles_api.indicators.formula import FormulaError, formula_inputs

_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
}


def _literal(value: float | int) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise FormulaError(f"{value!r} is not a finite number")
    return f"CAST({number!r} AS double precision)"


def formula_sql(formula: str, columns: Mapping[str, str]) -> str:
    """The SQL of ``formula`` with each input code replaced by ``columns[code]``."""
    formula_inputs(formula)  # refuses anything but arithmetic over codes
    tree = ast.parse(formula, mode="eval")

    def render(node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return render(node.body)
        if isinstance(node, ast.BinOp):
            left, right = render(node.left), render(node.right)
            if isinstance(node.op, ast.Div):
                return f"({left} / NULLIF({right}, 0))"
            return f"({left} {_OPERATORS[type(node.op)]} {right})"
        if isinstance(node, ast.UnaryOp):
            return f"(-{render(node.operand)})"
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return _literal(node.value)
        if isinstance(node, ast.Name):
            return columns[node.id]
        raise FormulaError(f"cannot translate {ast.unparse(node)!r}")  # pragma: no cover

    return render(tree)
