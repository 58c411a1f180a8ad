"""The adversarial suite of issue 5: each test attacks the real server and fails if
anything leaks."""
