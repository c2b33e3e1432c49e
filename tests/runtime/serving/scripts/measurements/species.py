SPECIES = ("setosa", "versicolor", "virginica")
