"""Company sign-in for API clients (decision 0031): the client runs authorization code + PKCE at the
company's provider, then brings the code here; the answer is this API's own token pair, as from
POST /api/v1/auth/login/, so every rule of the API stays as it is."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import oidc, sso, tokens
from accounts.api import examples
from accounts.api.serializers import TokenPairOut
from accounts.api.views import TokenEndpoint
from accounts.models import User
from helpdesk.api import ratelimits
from helpdesk.api.schema import errors
from helpdesk.api.serializers import StrictSerializer


class OidcTokenIn(StrictSerializer):
    code = serializers.CharField(max_length=2048, help_text="The authorization code the provider sent to redirect_uri.")
    code_verifier = serializers.CharField(
        min_length=43,
        max_length=128,
        help_text="The PKCE verifier whose S256 challenge the authorization request sent.",
    )
    redirect_uri = serializers.CharField(
        max_length=2048, help_text="The redirect URI of the authorization request; one of OIDC_API_REDIRECT_URIS."
    )
    nonce = serializers.CharField(
        min_length=16, max_length=256, help_text="The nonce of the authorization request; the ID token must carry it."
    )


OIDC_TOKEN_IN = OpenApiExample(
    "A code from the company's provider",
    request_only=True,
    value={
        "code": "jhbiPrPP_qZz_IV5yIC4MwRk08o1vq3GxgupOVRyR7N",
        "code_verifier": "Vf0sB1d7pYq3m4lXk2nT8rE6wZ9cH5jA0uG1oIyRbMs",
        "redirect_uri": "https://helpdesk-app.example/signed-in",
        "nonce": "n-0S6_WzA2Mj4t8Yq1",
    },
)


class OidcTokenView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Company sign-in: trade the provider's code for a token pair",
        description=(
            "Run authorization code + PKCE (S256) at the company's OpenID provider (its discovery document: "
            "`<OIDC_ISSUER>/.well-known/openid-configuration`; scope `openid email profile groups`, a fresh "
            "`state` and `nonce`), then send the code with the verifier, the redirect URI and the nonce. The "
            "server redeems the code as a confidential client and checks the ID token (signature through the "
            "provider's JWKS, issuer, audience, expiry, nonce). The account is the one with the token's "
            "verified email, or a new one; role and department come from the provider's groups. The answer "
            "is the same pair as password sign-in. 401 with a code saying why (`oidc_code_refused`, "
            "`oidc_bad_signature`, `oidc_bad_aud`, `oidc_bad_nonce`, `oidc_token_expired`, "
            "`oidc_email_unverified`, `user_inactive`, ...); 404 `oidc_not_configured` where company sign-in "
            "is off; 503 while the provider does not answer. Limited per IP (`RATE_OIDC_IP`)."
        ),
        request=OidcTokenIn,
        responses={200: TokenPairOut, **errors(400, 401, 404, 429, 503)},
        examples=[OIDC_TOKEN_IN, examples.TOKEN_PAIR_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="oidc_ip")
        data = OidcTokenIn.validated(request.data)
        user = sso.sign_in(claims=oidc.claims_for_code(**data))
        user_logged_in.send(sender=User, request=request._request, user=user)
        # The company's provider asks for its own second factor (decision 0032).
        return Response(tokens.issue_pair(user, second_factor=True))
