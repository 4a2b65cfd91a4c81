"""The Beancount adapter: reading directives, effects, loading, rendering."""
