"""Reports: a query layer returning plain rows and totals, and renderers that turn them
into PDF or CSV bytes.  Renderers receive data; they never query the database, and no
report recomputes a subsidy: they read the grants recorded at sale time."""
