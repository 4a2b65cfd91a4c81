"""What creates requests: calculators, templates, schedules, automation, imports."""
