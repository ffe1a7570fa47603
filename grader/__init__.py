"""The item-feature CNN, the outfit grader, training and evaluation (not built yet)."""
