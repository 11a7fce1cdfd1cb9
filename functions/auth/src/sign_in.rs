//! Sign-in at the edge: reads the login and callback requests into plain values for
//! `identity::login`, and sends its typed outcomes as redirects with their cookies.

use lambda_http::{Body, Request, Response};
use steward_shared::http::{authenticate, cookie, path_param, query_param, set_cookie_of};
use steward_shared::identity::login::{
    self, BINDING_COOKIE, CrmAnswer, SignInOutcome, Start, refusal_location,
};
use steward_shared::identity::parse_crm;
use steward_shared::{Error, Result, Services};

/// A `302 Found` to `location`, never cached, setting `set_cookies`.
fn redirect(location: &str, set_cookies: &[String]) -> Result<Response<Body>> {
    let mut b = Response::builder()
        .status(302)
        .header(http::header::LOCATION, location)
        .header(http::header::CACHE_CONTROL, "no-store");
    for c in set_cookies {
        b = b.header(http::header::SET_COOKIE, c);
    }
    b.body(Body::Empty)
        .map_err(|e| Error::internal("building a redirect", e))
}

/// `GET /auth/{crm}/login[?purpose=integration][&return_to=/path]`: to the CRM's
/// authorize page, the binding cookie set. An integration is started by a signed-in
/// owner or admin.
pub async fn login(s: &Services, req: Request) -> Result<Response<Body>> {
    let crm_text = path_param(&req, "crm")?;
    let crm = parse_crm(&crm_text)
        .ok_or_else(|| Error::NotFound(format!("sign-in with `{crm_text}`")))?;
    let start = match query_param(&req, "purpose").as_deref() {
        None | Some("login") => Start::Login,
        Some("integration") => Start::Integration(authenticate(s, &req).await?),
        Some(other) => {
            return Err(Error::invalid(
                "purpose",
                format!("must be `login` or `integration`, not `{other}`"),
            ));
        }
    };
    let return_to = query_param(&req, "return_to");
    let to = login::login(s, crm, start, return_to.as_deref()).await?;
    redirect(
        &to.authorize_url,
        &[set_cookie_of(&s.web_base_url, &to.binding)],
    )
}

/// `GET /auth/{crm}/callback?code&state` (or `?error&error_description&state`): a
/// redirect into Steward (signed in: where the person was going; an integration:
/// Settings > Users), or to the console's sign-in page naming the refusal.
pub async fn callback(s: &Services, req: Request) -> Result<Response<Body>> {
    let crm = path_param(&req, "crm")
        .ok()
        .and_then(|c| parse_crm(&c))
        .ok_or_else(|| Error::NotFound("this sign-in callback".into()))?;
    let answer = CrmAnswer {
        state: query_param(&req, "state"),
        code: query_param(&req, "code"),
        error: query_param(&req, "error"),
        error_description: query_param(&req, "error_description"),
        binding: cookie(&req, BINDING_COOKIE),
    };
    let outcome = login::callback(s, crm, &answer).await?;
    let base = &s.web_base_url;
    let location = match &outcome {
        SignInOutcome::SignedIn { to, .. } => format!("{base}{to}"),
        SignInOutcome::IntegrationConnected { .. } => {
            format!("{base}/settings/users?integration=connected")
        }
        SignInOutcome::Refused { why, return_to } => {
            refusal_location(base, *why, crm, return_to.as_deref())
        }
    };
    let cookies: Vec<String> = outcome
        .cookies()
        .iter()
        .map(|c| set_cookie_of(base, c))
        .collect();
    redirect(&location, &cookies)
}
