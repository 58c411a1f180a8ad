"""The adversarial suite: each test attacks the real server and fails if
anything leaks."""
