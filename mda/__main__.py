from mda.cli import main

main()
