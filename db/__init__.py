"""Database layer: SQLModel table models, engine, Alembic migrations and seed data."""
