/// KeelAuth — who a request acts for. Users, organizations and their roles, password and OAuth
/// sign-in, short-lived signed access tokens, rotating refresh tokens and API keys, all over one
/// `AuthStore`.
///
/// `AuthService` is the one entry point: the HTTP layer hands it the credential a request carries
/// and gets an `AuthPrincipal` (user, active organization, role) or an `AuthError`. Secrets are
/// hashed before they reach the store (passwords with bcrypt, off the cooperative pool; keys and
/// refresh tokens with SHA-256) and never appear in an error, a log line or a principal.
enum KeelAuthModule {}
