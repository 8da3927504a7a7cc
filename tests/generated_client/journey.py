"""The access journey through a client generated from Wharf's OpenAPI document by
openapi-python-client (tests/tests/generated_client.rs generates it and runs this):
ana finds a product of sales-data, requests access for her team's role in the sandbox,
omar approves, and ana polls until the grant is applied.

Environment: WHARF_URL, TOKEN (ana's API token), OWNER_TOKEN (omar's); the generated
package `wharf_api_client` on sys.path.
"""

import datetime
import os
import sys
import time

from wharf_api_client import AuthenticatedClient
from wharf_api_client.api.access import approve_request, create_request, get_request
from wharf_api_client.api.catalog import list_principals
from wharf_api_client.api.products import get_product, list_products
from wharf_api_client.models import (
    AccessRequest,
    DecisionBody,
    NewRequestBody,
    Problem,
    RequestStatus,
    TableChoice,
)


def client(token: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=os.environ["WHARF_URL"], token=token, raise_on_unexpected_status=True
    )


def ok(answer, what):
    """The typed answer, or a failure naming the problem."""
    if answer is None or isinstance(answer, Problem):
        sys.exit(f"{what}: {answer}")
    return answer


ana = client(os.environ["TOKEN"])
omar = client(os.environ["OWNER_TOKEN"])

products = ok(list_products.sync(client=ana, owner_team=["sales-data"]), "list products")
assert products.hits, "the demo has products of sales-data"
roles = ok(list_principals.sync("sandbox", client=ana), "list principals")
role = next(r for r in roles if r.team == "analytics")

until = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
request = None
for hit in products.hits:
    product = ok(get_product.sync(hit.product_slug, client=ana), "get product")
    if product.environment != "sandbox" or not product.assets:
        continue
    asset = product.assets[0]
    body = NewRequestBody(
        product=product.slug,
        principal_id=role.id,
        justification="Generated client journey",
        until=until,
        tables=[TableChoice(table=f"{asset.database}.{asset.table}")],
    )
    answer = create_request.sync(client=ana, body=body, idempotency_key=f"gen-{product.slug}")
    if isinstance(answer, AccessRequest):
        request = answer
        break
    print(f"{product.slug}: {answer}")  # already asked for, say: try the next one
assert request is not None, "a request was created"
print(f"requested {request.product_slug} ({request.id}): {request.status}")

approved = approve_request.sync(request.id, client=omar, body=DecisionBody(comment="ok"))
print(f"approved: {ok(approved, 'approve').status}")

deadline = time.monotonic() + 30
while True:
    current = ok(get_request.sync(request.id, client=ana), "get request")
    if current.status == RequestStatus.GRANTED:
        break
    assert time.monotonic() < deadline, f"still {current.status}"
    time.sleep(0.2)
print(f"granted: {[f'{i.database}.{i.table}: {i.status}' for i in current.items]}")
