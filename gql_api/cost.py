"""A cost limit per operation (#14 finding 9): 30 aliases of `contracts(first: 100)` with
every field, `text` and `preview` included, took 1 GB. Before execution each operation's
cost is estimated from the document and its variables, and one over MAX_QUERY_COST is
refused with QUERY_TOO_COSTLY; nothing runs.

The estimate: every field selected costs 1, and an expensive field (a rendered contract
text, a preview, a signature check) costs more; a field with a page size (`first`) costs
its selection that many times; any other list of objects counts LIST_FACTOR items, except
a connection's `nodes`, whose page was counted on the connection. Fragments count where
they are spread; every member of a union is counted, as if all could answer at once."""

from collections.abc import Iterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

# What one resolution of these fields costs beside the 1 every field costs: a contract
# text rendered from its template, a preview rendered for regions, a PDF's seal checked.
EXPENSIVE: dict[tuple[str, str], int] = {
    ("Contract", "text"): 20,
    ("Contract", "preview"): 25,
    ("Query", "documentCheck"): 100,
    ("Query", "templateDraft"): 50,
    ("Query", "overview"): 20,
}
PAGE_ARGUMENT = "first"
LIST_FACTOR = 10
DEFAULT_MAX_QUERY_COST = 10_000


def _unwrapped(type_: Any) -> Any:
    return type_.of_type if is_non_null_type(type_) else type_


class Estimate:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any]):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(self, parent: Any, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node, seen)
            elif isinstance(node, InlineFragmentNode):
                on = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                total += self.selection(on or parent, node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # validation refuses both; count nothing
                    continue
                on = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection(on or parent, fragment.selection_set, seen | {name})
        return total

    def field(self, parent: Any, node: FieldNode, seen: frozenset[str]) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", None) or {}  # objects and interfaces have fields
        definition = None if name.startswith("__") else fields.get(name)
        if definition is None:  # __typename, introspection (off in production)
            return 1
        returns = _unwrapped(definition.type)
        inner = self.selection(get_named_type(returns), node.selection_set, seen)
        cost = 1 + EXPENSIVE.get((parent.name, name), 0)
        page = self.page_size(definition, node)
        if page is not None:
            return cost + page * inner
        if is_list_type(returns) and node.selection_set is not None and name != "nodes":
            return cost + LIST_FACTOR * inner
        return cost + inner

    def page_size(self, definition: Any, node: FieldNode) -> int | None:
        argument = definition.args.get(PAGE_ARGUMENT)
        if argument is None:
            return None
        value: Any = argument.default_value
        for given in node.arguments or ():
            if given.name.value != PAGE_ARGUMENT:
                continue
            if isinstance(given.value, IntValueNode):
                value = int(given.value.value)
            elif isinstance(given.value, VariableNode):
                value = self.variables.get(given.value.name.value, value)
        return max(1, value) if isinstance(value, int) else 100


def operation_cost(schema: GraphQLSchema, document: Any, variables: dict[str, Any] | None,
                   operation_name: str | None) -> int:
    """The estimated cost of the operation a request runs (0 when there is none to run)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [d for d in operations if d.name and d.name.value == operation_name]
    if len(operations) != 1:
        return 0
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    return Estimate(schema, fragments, variables or {}).selection(root, operation.selection_set)


class QueryCost(SchemaExtension):
    """Refuses an operation over the budget before it runs (the result is set, so strawberry
    skips execution). The budget is the MAX_QUERY_COST setting."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        settings = getattr(ctx.context, "settings", None)
        budget = getattr(settings, "max_query_cost", DEFAULT_MAX_QUERY_COST)
        document = ctx.graphql_document
        if document is not None:
            cost = operation_cost(ctx.schema._schema, document, ctx.variables, ctx.operation_name)
            if cost > budget:
                error = GraphQLError(
                    f"The query is too costly ({cost}; at most {budget}): ask for fewer items per page, "
                    "fewer aliases, or the contract text of one contract at a time.",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": budget},
                )
                if ctx.operation_type is OperationType.SUBSCRIPTION:
                    raise error  # strawberry answers an on_execute error as the stream's only result
                ctx.result = ExecutionResult(data=None, errors=[error])
        yield
