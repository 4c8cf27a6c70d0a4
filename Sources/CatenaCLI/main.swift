import Catena
print("catena")
