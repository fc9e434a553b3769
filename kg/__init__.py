"""zh-policy-kg: a knowledge-graph builder for Chinese government and policy text."""
__version__ = "0.1.0"
