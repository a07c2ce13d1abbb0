"""What maintainers run, not users: refresh the committed notebooks, translate, build the course."""
