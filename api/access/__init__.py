"""Who may do what, and how often: authentication (`auth`), the failed-login throttle
(`login_throttle`), the request budget (`rate_limits` over `limiter_storage`) and the hardening
of every response and of production start-up (`hardening`)."""
