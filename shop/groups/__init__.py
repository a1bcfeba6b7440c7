"""Group buying (拼团): a group price for N buyers who pay within T hours, else everyone is refunded."""
