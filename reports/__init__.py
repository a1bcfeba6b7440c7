"""Sales analytics and the monthly report workflow for the poverty-alleviation office."""
