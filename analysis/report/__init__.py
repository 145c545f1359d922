"""The figures and the summary report of a results directory."""
