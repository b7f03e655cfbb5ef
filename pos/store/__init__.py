"""The store: keyword-only functions that read and write the database inside the caller's
transaction and enforce what must hold (caps, limits, idempotency) with constraints and
conditional updates.  Views call these; they never write SQL themselves."""
