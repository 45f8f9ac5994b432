"""API Gateway REST APIs (v1) served locally: see `gateway.RestApiGateway` and `server.serve`."""

from constructs_lib.local.rest_api._model import HttpRequest, HttpResponse
from constructs_lib.local.rest_api.gateway import RestApiGateway
from constructs_lib.local.rest_api.server import serve

__all__ = ["HttpRequest", "HttpResponse", "RestApiGateway", "serve"]
