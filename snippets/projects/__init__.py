"""Project walkthroughs: the code behind the notebook pages."""
