"""JetStream objects as data: user input and server configs of streams, consumers, KV buckets and
object stores in one canonical form, the field catalogues behind them, and the diff rules."""
