"""The domain: pure, no Beancount (a test imports it with beancount blocked)."""
