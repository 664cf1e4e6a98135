echo "app: $(hitool) args=$*"
