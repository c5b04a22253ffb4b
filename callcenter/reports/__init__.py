"""Reports: the wallboard's KPIs and the units' evaluation scorecard (web data, XLSX and PDF)."""
